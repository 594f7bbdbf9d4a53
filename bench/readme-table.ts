// Prints the README's benchmark table, from bench/results.json (written by `npm run bench`):
//   node --import tsx bench/readme-table.ts
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Results, renderMarkdown } from './report.js';

const file = path.join(import.meta.dirname, 'results.json');
const results = JSON.parse(await readFile(file, 'utf8')) as Results;
console.log(renderMarkdown(results));
