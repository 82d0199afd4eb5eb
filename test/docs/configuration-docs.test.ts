import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_PAGE, GENERATED_END, GENERATED_START, renderConfigurationTable, withGeneratedTable } from '../../scripts/config-docs.js';
import { ConfigSchema, describeVariables } from '../../src/config.js';

const page = readFileSync(CONFIGURATION_PAGE, 'utf8');

describe('docs/configuration.md, generated from the config schema', () => {
  it('holds the table the schema renders now (else run `npm run docs:config`)', () => {
    expect(page).toBe(withGeneratedTable(page));
  });

  it('has one row per variable, in the schema\'s order, with its default and description', () => {
    const table = renderConfigurationTable();
    const rows = table.split('\n').filter((line) => /^\| `[A-Z_]+` \|/.test(line));
    expect(rows.map((row) => /^\| `([A-Z_]+)`/.exec(row)![1])).toEqual(Object.keys(ConfigSchema.properties));
    expect(rows[0]).toBe('| `PORT` | `8000` | an integer from 0 to 65535 | TCP port to listen on. |');
    for (const { name, description } of describeVariables()) expect(table, name).toContain(description.replace(/\s+/g, ' '));
    expect(table).toContain('| `API_KEYS` | unset | a comma-separated list of keys of at least 16 characters each |');
    expect(table).toContain('- `DRIFT_MIN_ROWS` must not exceed `DRIFT_WINDOW_ROWS`.');
    expect(table).toContain('- `BATCH_MAX_DELAY_MS` is the old name of `MICRO_BATCH_MAX_DELAY_MS`.');
  });

  it('replaces only the generated part, and finds a stale one', () => {
    const stale = page.replace('| `PORT` | `8000` |', '| `PORT` | `8080` |');
    expect(stale).not.toBe(page);
    expect(withGeneratedTable(stale)).toBe(page);
    const handWritten = `# Title\n\nBefore.\n\n${GENERATED_START}\nold\n${GENERATED_END}\n\nAfter.\n`;
    expect(withGeneratedTable(handWritten)).toBe(`# Title\n\nBefore.\n\n${renderConfigurationTable()}\n\nAfter.\n`);
    expect(() => withGeneratedTable('# No markers\n')).toThrow('lacks the markers of its generated part');
  });
});
