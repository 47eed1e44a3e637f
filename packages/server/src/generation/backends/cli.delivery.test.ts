import { describe, expect, it } from 'vitest';
import { renderTemplate } from './cli.delivery.ts';

describe('cli template', () => {
  it('replaces known fields, keeps unknown ones and honours doubled braces', () => {
    expect(renderTemplate('T:{prompt}', { prompt: 'hi' })).toBe('T:hi');
    expect(renderTemplate('{{"p": "{prompt}"}} {other}', { prompt: 'a {b}' })).toBe('{"p": "a {b}"} {other}');
  });
});
