import * as z from '@cashier/shared/src/zod';
import { PayParams } from '@cashier/shared';

/** pay_info is a JSON string of appId + the five wx.requestPayment fields. timeStamp must stay a string. */
const PayInfo = z.object({
  appId: z.string().check(z.minLength(1)),
  timeStamp: z.pipe(z.union([z.string(), z.number()]), z.transform(String)),
  nonceStr: z.string(),
  package: z.string(),
  signType: z.string(),
  paySign: z.string(),
});

export function parsePayInfo(text: string): { appId: string; payParams: PayParams } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('pay_info is not JSON');
  }
  const info = PayInfo.parse(json);
  const payParams = PayParams.parse({
    timeStamp: info.timeStamp,
    nonceStr: info.nonceStr,
    package: info.package,
    signType: info.signType,
    paySign: info.paySign,
  });
  return { appId: info.appId, payParams };
}
