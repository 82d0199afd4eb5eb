// Sums Stryker JSON reports (one per group, or the single report of `npm run test:mutation`) into
// one table: per file and overall, the score over all mutants and over those some test reaches.
//   node scripts/mutation-summary.mjs [report.json ...]   (default: reports/mutation/mutation.json)
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const reports = process.argv.slice(2);
if (reports.length === 0) reports.push('reports/mutation/mutation.json');

const perFile = new Map();
for (const report of reports) {
  const { files } = JSON.parse(readFileSync(report, 'utf8'));
  for (const [name, { mutants }] of Object.entries(files)) {
    const counts = perFile.get(name) ?? { killed: 0, timeout: 0, survived: 0, noCoverage: 0, other: 0 };
    for (const { status } of mutants) {
      if (status === 'Killed') counts.killed += 1;
      else if (status === 'Timeout') counts.timeout += 1;
      else if (status === 'Survived') counts.survived += 1;
      else if (status === 'NoCoverage') counts.noCoverage += 1;
      else counts.other += 1; // Ignored (static), CompileError, RuntimeError: not scored.
    }
    perFile.set(name, counts);
  }
}

const percent = (part, whole) => (whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(2)} %`);
const rows = [];
const total = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, other: 0 };
for (const [name, counts] of [...perFile].sort(([a], [b]) => a.localeCompare(b))) {
  for (const key of Object.keys(total)) total[key] += counts[key];
  rows.push([relative(process.cwd(), name) || name, counts]);
}
rows.push(['all files', total]);

console.log('| file | killed | timeout | survived | no coverage | score (all) | score (reached) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, c] of rows) {
  const detected = c.killed + c.timeout;
  console.log(
    `| ${name} | ${c.killed} | ${c.timeout} | ${c.survived} | ${c.noCoverage} | ` +
      `${percent(detected, detected + c.survived + c.noCoverage)} | ${percent(detected, detected + c.survived)} |`,
  );
}
