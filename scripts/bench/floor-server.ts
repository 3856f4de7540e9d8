/**
 * The bench's floor, in its own process: what any notification handler must do at the least, with no storage.
 * It reads the body, verifies Huifu's signature over resp_data with the same key and code as payNotify, reads
 * req_seq_id and acknowledges. Prints the port it listens on. Argument: Huifu's public key, Base64 DER or PEM.
 */
import { createServer } from 'node:http';
import { parsePublicKey } from '../../cloudfunctions/src/providers/huifu/keys';
import { ackFor, classifyNotification, parseEnvelope, verifyEnvelope } from '../../cloudfunctions/src/providers/huifu/notify';
import { listen, readBody, send } from '../lib/http';

const key = parsePublicKey(process.argv[2] ?? '');
const server = createServer(async (req, res) => {
  const { text, tooLarge } = await readBody(req, 64 * 1024);
  if (tooLarge) return send(res, 413, 'rejected');
  try {
    const envelope = parseEnvelope(text, req.headers['content-type']);
    verifyEnvelope(envelope, key);
    send(res, 200, ackFor(classifyNotification(envelope.respData).reqSeqId));
  } catch {
    send(res, 400, 'rejected');
  }
});
void listen(server, 0).then((port) => process.stdout.write(`${port}\n`));
