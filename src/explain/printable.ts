// Text safe to print on a terminal. Key names and messages come from the backend and the
// definition, and a terminal acts on some characters rather than showing them: control characters
// (C0, DEL, C1: ESC starts an escape sequence, CR and LF start a line that looks like ours), line
// and paragraph separators, and the bidi controls that reorder what is shown.

const unprintable = /[\p{Cc}\p{Zl}\p{Zp}\u202a-\u202e\u2066-\u2069]/gu;
const named: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` with every character a terminal would act on written as an escape (\n, \x1b, \u202e). */
export function printable(text: string): string {
  return text.replace(unprintable, (char) => {
    const code = char.codePointAt(0) ?? 0;
    return (
      named[char] ??
      (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
    );
  });
}
