import type { KeyObject } from 'node:crypto';
import { fenToYuan } from '../../cloudfunctions/src/domain/money';
import { parsePrivateKey } from '../../cloudfunctions/src/providers/huifu/keys';
import { signRsaSha256 } from '../../cloudfunctions/src/providers/huifu/sign';
import { readLocalKeys } from '../../scripts/lib/local-keys';
import type { Stack } from '../../scripts/stack';

/** The form body Huifu POSTs for a notification: resp_data exactly as signed, and its signature. */
export function notificationForm(respData: string, sign: string): string {
  return new URLSearchParams({ resp_code: '00000000', resp_desc: '成功调用', resp_data: respData, sign }).toString();
}

/** The form body for these resp_data fields, signed with `huifuPrivateKey` as Huifu signs. */
export function signedNotificationForm(respData: Record<string, unknown>, huifuPrivateKey: KeyObject): string {
  const text = JSON.stringify(respData);
  return notificationForm(text, signRsaSha256(text, huifuPrivateKey));
}

/** Signs notifications as Huifu (the stack's sandbox identity) would, so tests can send exactly what they need. */
export function notificationSigner(stack: Stack) {
  const key = parsePrivateKey(readLocalKeys(stack.dataDir).huifuPrivateKey);
  return {
    payRespData(fields: { orderNo: string; amountFen: number; transStat?: 'S' | 'F' | 'P'; notifyType?: number; huifuId?: string }): string {
      return JSON.stringify({
        resp_code: '00000000',
        resp_desc: '交易成功',
        huifu_id: fields.huifuId ?? stack.config.huifu.huifuId,
        req_seq_id: fields.orderNo,
        req_date: '20261123',
        trans_type: 'T_MINIAPP',
        hf_seq_id: `0029000${fields.orderNo}`,
        trans_amt: fenToYuan(fields.amountFen),
        trans_stat: fields.transStat ?? 'S',
        notify_type: fields.notifyType ?? 1,
        end_time: '20261123120000',
      });
    },
    form: (respData: string, sign = signRsaSha256(respData, key)) => notificationForm(respData, sign),
    sign: (respData: string) => signRsaSha256(respData, key),
  };
}

export async function postNotification(stack: Stack, body: string, contentType = 'application/x-www-form-urlencoded;charset=UTF-8'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${stack.urls.functions}/http/huifu/notify`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, text: await res.text() };
}
