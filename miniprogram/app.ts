import { config, mode } from './config';
import { recordScene } from './services/launch';

App({
  onLaunch(options) {
    if (mode() === 'cloud') {
      // A build without cloudEnv has no backend outside DevTools; say so where a developer will look.
      if (!config.cloudEnv) console.error('miniprogram/config.ts: cloudEnv is empty; set the CloudBase environment id before uploading');
      wx.cloud.init({ env: config.cloudEnv, traceUser: true });
    }
    recordScene(options.scene);
  },
  onShow(options) {
    recordScene(options.scene);
  },
});
