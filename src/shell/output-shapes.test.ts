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

// bash splits an unquoted expansion into words: `DB_PASSWORD=correct horse battery` read by `$(cat .env)`
// becomes `DB_PASSWORD=correct`, `horse`, `battery`, handed on apart and shown apart (a loop prints
// each alone; echo joins them on one line), where masking no longer sees the value after its name
// (class 235; test/ssh-masking-word-split.test.ts shows it through real OpenSSH).
describe('a value split into words by bash (class 235)', () => {
  it.each([
    'for w in $(cat .env); do echo $w; done',
    'for w in $(<.env); do echo "[$w]"; done',
    'for w in `cat .env`; do echo "$w"; done',
    'x=$(cat .env); for w in $x; do printf "%s\\n" "$w"; done',
    'cat .env | while read -r l; do for w in $l; do echo "$w"; done; done',
    'select w in $(cat .env); do break; done',
    'echo $(cat .env)',
    'echo `cat .env`',
    'x=$(cat .env); echo $x',
    'echo $x',
    'echo ${x}',
    'echo $1 $2',
    'echo $*',
    'ls $(cat .env)',
    'a=($(cat .env))',
    'a=($x); echo "${a[1]}"',
    'echo "${a[2]}"',
    'printf "%s\\n" "${a[@]}"',
    'echo $((  $(cat .env) ))',
  ])('%s reshapes', (line) => {
    expect(shapes(line), line).not.toEqual([]);
  });

  it.each([
    'for w in "$(cat .env)"; do echo "$w"; done',
    'for f in *.txt; do echo "$f"; done',
    'for w in a b c; do echo "$w"; done',
    'echo "$(cat .env)"',
    'x=$(cat .env); echo "$x"',
    'a=("$(cat .env)")',
    'a=(x y z)',
    'echo $? $$ $# ${UID} $((1 + 2)) $RANDOM',
    'echo $HOME $USER',
    'cd $HOME',
    'echo {a,b}',
  ])('%s does not', (line) => {
    expect(shapes(line), line).toEqual([]);
  });
});

// A host's kubectl and helm print a Secret's data base64-encoded, under any key: output masking reads
// neither (class 264; test/ssh-kubectl-secret-data.test.ts shows it through real OpenSSH and kubectl).
describe("Secrets' data printed by kubectl and helm (class 264)", () => {
  it.each([
    'kubectl get secret db -o yaml',
    'kubectl get secrets -A -o json',
    'kubectl -n prod get Secret/db -ojsonpath={.data.url}',
    'kubectl get cm,secret -o=yaml',
    "kubectl get secret.v1 db --output go-template='{{.data.url}}'",
    "kubectl get secret db --template '{{.data.url}}'",
    'kubectl get -o custom-columns=U:.data.url secrets',
    'kubectl get --raw /api/v1/namespaces/default/secrets/db',
    'kubectl get --raw /api/v1/namespaces/default/%73ecrets/db',
    'kubectl get -f k8s/ -o yaml',
    'kubectl get -k overlays/prod -o json',
    'kubectl get $KIND db -o yaml',
    'kubectl get secret db -o $FORMAT',
    'oc get secret db -o yaml',
    'helm get manifest web',
    'helm get all web',
    'helm template ./chart',
  ])('%s reshapes', (line) => {
    expect(shapes(line), line).not.toEqual([]);
  });

  it.each([
    'kubectl get secret db',
    'kubectl get secrets -o wide',
    'kubectl get secret -o name',
    'kubectl describe secret db',
    'kubectl get pods -o yaml',
    'kubectl get cm app -o yaml',
    'kubectl get --raw /healthz',
    'helm get values web',
    'helm list -A',
  ])('%s shows what it reads whole', (line) => {
    expect(shapes(line), line).toEqual([]);
  });
});
