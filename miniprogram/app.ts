import { config } from './config';
import { recordScene } from './services/launch';

App({
  onLaunch(options) {
    if (config.mode === 'cloud') wx.cloud.init({ env: config.cloudEnv, traceUser: true });
    recordScene(options.scene);
  },
  onShow(options) {
    recordScene(options.scene);
  },
});
