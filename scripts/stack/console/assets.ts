/**
 * The console page's files, built in memory by esbuild from ui/ the first time they are asked for (about 100 ms):
 * nothing to build ahead, no build output to commit, no CDN (it works offline).
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConsoleAssets {
  html: string;
  js: string;
  css: string;
}

const UI = join(__dirname, 'ui');
let built: Promise<ConsoleAssets> | null = null;

export function consoleAssets(): Promise<ConsoleAssets> {
  built ??= build({
    entryPoints: [join(UI, 'main.tsx')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  }).then((result) => ({
    html: `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>收银台控制台</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/app.css">
</head>
<body>
<div id="app"></div>
<script src="/console/app.js"></script>
</body>
</html>
`,
    js: result.outputFiles[0]!.text,
    css: readFileSync(join(UI, 'style.css'), 'utf8'),
  }));
  return built;
}
