/** `text` as a literal inside a RegExp (paths and URLs in expected messages). */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
