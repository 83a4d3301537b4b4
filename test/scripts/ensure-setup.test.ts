import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const script = new URL('../../scripts/ensure-setup.mjs', import.meta.url).href;
const { dependenciesStale } = (await import(script)) as { dependenciesStale(dir: string): string };

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A project with package.json, package-lock.json and (unless `installed` is null) node_modules' record. */
function project(deps: Record<string, string>, locked: Record<string, object>, installed: Record<string, object> | null,
  lockedDeps = deps): string {
  const dir = mkdtempSync(join(tmpdir(), 'ensure-setup-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'p', dependencies: deps }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ packages: { '': { dependencies: lockedDeps }, ...locked } }));
  if (installed) {
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules', '.package-lock.json'), JSON.stringify({ packages: installed }));
  }
  return dir;
}

describe('ensure-setup: npm install only when node_modules differs from the lockfile', () => {
  const a = { 'node_modules/a': { version: '1.2.0' } };
  it('up to date: nothing to do', () => {
    assert.equal(dependenciesStale(project({ a: '^1.0.0' }, a, a)), '');
  });
  it('never installed', () => {
    assert.match(dependenciesStale(project({ a: '^1.0.0' }, a, null)), /not installed/);
  });
  it('the lockfile moved on (a pull): a version differs', () => {
    assert.match(dependenciesStale(project({ a: '^1.0.0' }, a, { 'node_modules/a': { version: '1.1.0' } })), /a 1\.1\.0, lockfile 1\.2\.0/);
  });
  it('package.json names a dependency the lockfile lacks', () => {
    assert.match(dependenciesStale(project({ a: '^1.0.0', b: '^2.0.0' }, a, a, { a: '^1.0.0' })), /wants b@\^2\.0\.0/);
  });
  it('an optional package for another platform is locked but never installed: still up to date', () => {
    const locked = { ...a, 'node_modules/@esbuild/darwin-arm64': { version: '0.28.2', optional: true } };
    assert.equal(dependenciesStale(project({ a: '^1.0.0' }, locked, a)), '');
  });
});
