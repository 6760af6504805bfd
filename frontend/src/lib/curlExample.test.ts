import { describe, expect, it } from 'vitest';
import { curlPredictExample, shellDoubleQuote } from './curlExample';

describe('curl example', () => {
  const url = 'http://127.0.0.1:8000/api/v1/projects/3/predict?top_k=3';

  it('uses the TOKEN variable until a token is created', () => {
    expect(curlPredictExample(url, null)).toBe(
      'curl -H "Authorization: Bearer $TOKEN" \\\n' +
        '     -F files=@image.jpg \\\n' +
        `     "${url}"`,
    );
  });

  it('fills in a created token, quoted for the shell', () => {
    const text = curlPredictExample(url, 'llt_abc-123');
    expect(text).toContain('-H "Authorization: Bearer llt_abc-123"');
    expect(text).toContain('-F files=@image.jpg');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('escapes what the shell would expand', () => {
    expect(shellDoubleQuote('a"b$c`d\\e')).toBe('"a\\"b\\$c\\`d\\\\e"');
    expect(curlPredictExample(url, '$(rm -rf ~)')).toContain('"Authorization: Bearer \\$(rm -rf ~)"');
    expect(curlPredictExample(url, null, 'my cat.jpg')).toContain('-F "files=@my cat.jpg"');
  });
});
