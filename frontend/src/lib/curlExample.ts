// The copy-paste curl example of the Model page for POST /projects/{id}/predict.

/** Stands in for the token until the user creates one (a shell variable, so the example still runs). */
export const TOKEN_VARIABLE = '$TOKEN';

/** Quote for a POSIX shell's double quotes: `"`, `\`, `$` and backquotes are escaped. */
export function shellDoubleQuote(text: string): string {
  return `"${text.replace(/(["\\$`])/g, '\\$1')}"`;
}

/**
 * `curl` posting `file` to the prediction endpoint at `url` with a bearer token; with `token` null the
 * header reads the TOKEN shell variable instead.
 */
export function curlPredictExample(url: string, token: string | null, file = 'image.jpg'): string {
  const header = token === null ? `"Authorization: Bearer ${TOKEN_VARIABLE}"` : shellDoubleQuote(`Authorization: Bearer ${token}`);
  const field = /^[\w./-]+$/.test(file) ? `files=@${file}` : shellDoubleQuote(`files=@${file}`);
  return [`curl -H ${header}`, `     -F ${field}`, `     ${shellDoubleQuote(url)}`].join(' \\\n');
}
