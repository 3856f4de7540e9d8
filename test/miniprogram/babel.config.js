// tdesign-miniprogram's dist is ES modules and our pages are TypeScript: Babel turns both into CommonJS for jest.
module.exports = {
  presets: [['@babel/preset-env', { targets: { node: 'current' } }], '@babel/preset-typescript'],
};
