// Which lines' output may show what they read in a form output masking cannot see (class 221): each
// of these was a plain read, allowed for a masked principal, and its output carried the secrets of
// what it read past the detectors (test/ssh-masking-reshaped.test.ts shows it through real OpenSSH).

import { describe, expect, it } from 'vitest';
import { classifyShellCommand } from './index.js';
import { outputReshapers } from './output-shapes.js';

const shapes = (line: string): string[] => outputReshapers(classifyShellCommand({ line }));

describe('output reshaped past the masking detectors (class 221)', () => {
  it.each([
    'xxd .env',
    'xxd -p .env',
    'od -c .env',
    'hexdump -C .env',
    'hd .env',
    'base64 .env',
    'base32 .env',
    'basenc --base16 .env',
    'rev .env',
    'fold -w1 .env',
    'fmt -w1 config.yml',
    'tr a-z n-za-m < .env',
    'cat .env | tr -d =',
    "sed 's/./& /g' .env",
    "sed -n 'l 1' .env",
    "sed 's/^[A-Z_]*=//' .env",
    'cut -d= -f2 .env',
    "awk '{print $1}' .env",
    "awk -F= '{print $2}' .env",
    "grep -o '=.*' .env",
    "grep --only-matching 'KEY=.*' .env",
    'head -c 8 .env',
    'tail --bytes=+9 .env',
    'gzip -c .env',
    'xz < .env',
    'cmp -l .env /dev/zero',
    'diff -y -W 30 .env /dev/null',
    'column -t -s= .env',
    'pr -w 20 .env',
    'numfmt --grouping < cards.txt',
    'jq -r .password app.json',
    'tac -s = .env',
    'x=$(cat .env); echo "${x:3}"',
    'x=$(cat .env); echo "${x//=/ }"',
    'x=$(cat .env); echo "${x^^}"',
    'while read -n1 c; do echo "$c"; done < .env',
    'printf "%d\\n" "\'$c"',
    'git diff --no-index --word-diff-regex=. /dev/null .env',
    'tar cf - .env',
    'sudo xxd /etc/shadow',
    'xargs -n1 < .env',
    "xargs -d= -n1 printf '%s\\n' < .env",
    "printf '%s\\n' $(cat .env)",
    'while IFS== read -r k v; do echo "$v"; done < .env',
    'read -a parts < .env',
    'mapfile -d = arr < .env',
    'set -- $(cat .env); echo "$2"',
  ])('%s reshapes', (line) => {
    expect(shapes(line), line).not.toEqual([]);
  });

  it.each([
    'cat .env',
    'cat -n .env',
    'grep KEY .env',
    'head -n 3 .env',
    'tail -f /var/log/syslog',
    'sed -n 1,10p .env',
    'sed 5q .env',
    "sed -e '1d' .env",
    'sort .env',
    'less .env',
    'xxd -r -p dump.hex',
    'base64 -d blob.b64',
    'zcat app.log.gz',
    'gzip -d -c app.log.gz',
    'jq . app.json',
    'ls -la',
    'ps aux',
    'env',
    'diff a b',
    'git log -p',
    'echo "$HOME"',
    'echo $HOME',
    'while read -r line; do echo "$line"; done < .env',
    'mapfile -t lines < .env',
    'find . -name "*.log" | xargs grep -l ERROR',
    'set -e',
  ])('%s shows what it reads whole', (line) => {
    expect(shapes(line), line).toEqual([]);
  });
});
