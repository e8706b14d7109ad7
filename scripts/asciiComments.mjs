// V8 keeps a module's source text for the life of the process, as one byte per character
// only when every character is Latin-1: one "—" in a comment doubles the 0.9 MB chunk that
// `run` loads (zod) to 1.8 MiB of heap. esbuild's charset=ascii escapes strings, templates and
// identifiers, not comments (nor regular-expression literals). So a non-ASCII character is
// spelt as a \u escape where it is certainly in a comment: a line that starts with `//`, or
// a block comment whose first line starts with `/*`, up to its `*/`. Anywhere else the build
// fails, rather than risk changing what the code means.
const NON_ASCII = /[\u{80}-\u{10ffff}]/u;
const NON_ASCII_ALL = /[\u{80}-\u{10ffff}]/gu;

/** The part of `line` that is certainly comment, as [start, end), or undefined; and the block state after it. */
function commentSpan(line, inBlock) {
  const trimmed = line.trimStart();
  const indent = line.length - trimmed.length;
  if (!inBlock && trimmed.startsWith('//')) return { span: [indent, line.length], inBlock: false };
  const opens = !inBlock && trimmed.startsWith('/*');
  if (!inBlock && !opens) return { span: undefined, inBlock: false };
  const from = opens ? indent + 2 : 0;
  const close = line.indexOf('*/', from);
  return close < 0
    ? { span: [opens ? indent : 0, line.length], inBlock: true }
    : { span: [opens ? indent : 0, close + 2], inBlock: false };
}

/**
 * `text` with every non-ASCII character in a comment spelt as a \\u{…} escape. Throws, naming
 * `name` and the line, on one that is not certainly in a comment.
 */
export function asciiComments(text, name) {
  if (!NON_ASCII.test(text)) return text;
  let inBlock = false;
  return text
    .split('\n')
    .map((line, index) => {
      const comment = commentSpan(line, inBlock);
      inBlock = comment.inBlock;
      if (!NON_ASCII.test(line)) return line;
      const [start, end] = comment.span ?? [0, 0];
      const outside = line.slice(0, start) + line.slice(end);
      if (comment.span === undefined || NON_ASCII.test(outside))
        throw new Error(
          `${name}:${index + 1}: a non-ASCII character outside a comment: ${line.trim().slice(0, 120)}`,
        );
      const escaped = line
        .slice(start, end)
        .replace(NON_ASCII_ALL, (ch) => `\\u{${ch.codePointAt(0).toString(16)}}`);
      return line.slice(0, start) + escaped + line.slice(end);
    })
    .join('\n');
}
