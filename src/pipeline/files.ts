import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

/** `*`, `?` and `[...]` in the last path component, like tf.io.gfile.glob for one folder. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += '[' + glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasMagic = (s: string) => /[*?[]/.test(s);

/**
 * Expands file patterns (wildcards allowed in the file name, not in folders), each pattern's matches sorted,
 * in the order given, without duplicates. A pattern that matches nothing is a UserError naming it.
 */
export function matchFiles(patterns: string | readonly string[]): string[] {
  const out = new Set<string>();
  for (const pattern of typeof patterns === 'string' ? [patterns] : patterns) {
    if (!hasMagic(pattern)) {
      try {
        statSync(pattern);
      } catch {
        throw new UserError(`${pattern}: no such file`);
      }
      out.add(pattern);
      continue;
    }
    const dir = path.dirname(pattern);
    if (hasMagic(dir)) throw new UserError(`${pattern}: wildcards are only supported in the file name`);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      throw new UserError(`${dir}: no such directory`);
    }
    const re = globToRegExp(path.basename(pattern));
    const hits = names.filter((n) => re.test(n) && !n.startsWith('.tmp-')).sort();
    if (hits.length === 0) throw new UserError(`${pattern}: no files match`);
    for (const n of hits) out.add(path.join(dir, n));
  }
  return [...out];
}
