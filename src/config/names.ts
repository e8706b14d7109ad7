/** Why `name` cannot be a Linux interface name, or undefined when it can. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (Buffer.byteLength(name) > 15) return `must be at most 15 bytes, got ${JSON.stringify(name)}`;
  if (name === '.' || name === '..') return `cannot be ${JSON.stringify(name)}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we reject
  if (/[\s/:\u0000-\u001f\u007f]/.test(name)) {
    return `must not contain whitespace, '/', ':' or control characters, got ${JSON.stringify(name)}`;
  }
  return undefined;
}
