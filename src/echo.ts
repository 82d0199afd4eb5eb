/**
 * What an answer or a log line may repeat of a caller's own text (a path, a header value, a key, a
 * string value): its start, cut short and marked with "…", so that what a caller sends never comes
 * back larger than a few lines, however much was sent.
 */

/** An echo keeps at most this many UTF-16 code units of the caller's text. */
export const MAX_ECHO_CHARS = 64;

export function cutEcho(text: string, maxChars = MAX_ECHO_CHARS): string {
  if (text.length <= maxChars) return text;
  // Half a surrogate pair would be a broken character in the answer.
  const lastCode = text.charCodeAt(maxChars - 1);
  const end = lastCode >= 0xd800 && lastCode <= 0xdbff ? maxChars - 1 : maxChars;
  return `${text.slice(0, end)}…`;
}
