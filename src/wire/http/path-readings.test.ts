import { describe, expect, it } from 'vitest';
import { pathReadings } from './path-readings.js';

describe('the other paths an application may route a path as (docs/security.md, class 207)', () => {
  it('reads the rest after a script segment as PATH_INFO', () => {
    expect(pathReadings('/index.php/admin/users')).toEqual(['/admin/users']);
    expect(pathReadings('/v1/index.php/admin')).toEqual(['/admin']);
    expect(pathReadings('/cgi-bin/app.cgi/admin/x')).toEqual(['/admin/x']);
    expect(pathReadings('/App.ASPX/admin')).toEqual(['/admin']);
    // Every script segment: Apache takes the first file that exists, nginx's split the last.
    expect(pathReadings('/a.php/b.php/admin')).toEqual(['/b.php/admin', '/admin']);
  });

  it('reads a last segment without its format suffix (Rails, Spring suffix patterns, DRF)', () => {
    expect(pathReadings('/admin.json')).toEqual(['/admin']);
    expect(pathReadings('/v1/users/5.json')).toEqual(['/v1/users/5']);
    expect(pathReadings('/v1/users/5.tar.gz')).toEqual(['/v1/users/5']);
    expect(pathReadings('/index.php/admin.json')).toEqual(['/admin.json', '/index.php/admin', '/admin']);
  });

  it('has none for a plain path, a leading dot, or a script as the last segment', () => {
    expect(pathReadings('/v1/users/5')).toEqual([]);
    expect(pathReadings('/.well-known/x')).toEqual([]);
    expect(pathReadings('/v1/.env')).toEqual([]);
    expect(pathReadings('/')).toEqual([]);
    // The script itself, with nothing after it: its name without .php is read too (a deny on /index holds).
    expect(pathReadings('/index.php')).toEqual(['/index']);
  });

  it('is bounded on a path of many script segments', () => {
    const many = `/${Array.from({ length: 100 }, (_, i) => `s${i}.php`).join('/')}/admin`;
    expect(pathReadings(many).length).toBeLessThanOrEqual(17);
  });
});
