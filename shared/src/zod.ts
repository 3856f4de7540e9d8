/**
 * The zod every bundled schema is written with: `zod/mini`, whose functions tree-shake (classic zod's methods cannot:
 * about 70 KiB more in every cloud function bundle), with English issue messages, which classic zod loads by itself
 * and mini does not. Import it as `import * as z from '@cashier/shared/src/zod'` (or relatively inside shared). The local
 * tools under scripts/ are never bundled and may use classic `zod`.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
