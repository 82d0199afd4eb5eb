/**
 * Renders the variable table of docs/configuration.md from src/config.ts's ConfigSchema: each
 * variable's name, default, rule (in the words its error message uses) and description, then the
 * old names that still work and the rules between variables. The rest of the page is written by
 * hand; only the part between the two markers is generated, so the table cannot drift from the
 * code. test/docs/configuration-docs.test.ts fails when the committed page is stale.
 *
 *   npm run docs:config
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigSchema, CROSS_CHECKS, describeRule, describeVariables, loadConfig, RENAMED, type RuleSchema } from '../src/config.js';

export const CONFIGURATION_PAGE = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
export const GENERATED_START = '<!-- generated from src/config.ts by scripts/config-docs.ts (npm run docs:config): do not edit by hand -->';
export const GENERATED_END = '<!-- end of the generated part -->';

const NAME_PATTERN = new RegExp(`\\b(${Object.keys(ConfigSchema.properties).join('|')})\\b`, 'g');

/** A table cell: one line, no column breaks. */
const cell = (text: string) => text.replace(/\s+/g, ' ').replaceAll('|', '\\|').trim();

/** Variable names in prose as code spans, the way the hand-written pages write them. */
const codeNames = (text: string) => text.replace(NAME_PATTERN, '`$1`');

function variableRows(): string[] {
  return describeVariables().map(({ name, default: defaultValue, description }) => {
    const schema = ConfigSchema.properties[name] as RuleSchema;
    const secret = schema.secret ? ' Secret: never echoed in an error message, and redacted from logs.' : '';
    // The value as code, and a remark after it ("(bundled)") as prose.
    const shownDefault = defaultValue === 'unset' ? 'unset' : defaultValue.replace(/^(.*?)( \(.*\))?$/, '`$1`$2');
    return `| \`${name}\` | ${cell(shownDefault)} | ${cell(describeRule(schema))} | ${cell(description + secret)} |`;
  });
}

/** Each rule between variables in its error message's words, without the values a message quotes. */
function crossRules(): string[] {
  const defaults = loadConfig({});
  return CROSS_CHECKS.map(([describe]) => {
    const rule = codeNames(describe(defaults).replace(/ \([^)]*\)/g, ''));
    return `- ${rule.charAt(0).toUpperCase()}${rule.slice(1)}.`;
  });
}

function renamedNames(): string[] {
  return Object.entries(RENAMED).map(
    ([oldName, newName]) => `- \`${oldName}\` is the old name of \`${newName}\`. It still works and logs a one-line deprecation warning at start-up; when both are set, the new name wins.`,
  );
}

/** The generated part of the page, markers included. */
export function renderConfigurationTable(): string {
  return [
    GENERATED_START,
    '',
    '| Variable | Default | Allowed | Meaning |',
    '| --- | --- | --- | --- |',
    ...variableRows(),
    '',
    'Rules between variables, checked at start-up:',
    '',
    ...crossRules(),
    '',
    'Old names:',
    '',
    ...renamedNames(),
    '',
    GENERATED_END,
  ].join('\n');
}

/** The page with its generated part rendered anew; the hand-written rest stays as it is. */
export function withGeneratedTable(page: string): string {
  const start = page.indexOf(GENERATED_START);
  const end = page.indexOf(GENERATED_END);
  if (start === -1 || end < start) throw new Error(`config-docs: ${CONFIGURATION_PAGE} lacks the markers of its generated part`);
  return page.slice(0, start) + renderConfigurationTable() + page.slice(end + GENERATED_END.length);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(CONFIGURATION_PAGE, withGeneratedTable(readFileSync(CONFIGURATION_PAGE, 'utf8')));
  console.log(`config-docs: wrote ${CONFIGURATION_PAGE}`);
}
