import type { Command } from 'commander';

interface Node {
  readonly words: string[];
  readonly options: string[];
}

/** Every command path (`""`, `labs`, `labs create`, …) with the words that may follow it. */
function tree(program: Command): Map<string, Node> {
  const nodes = new Map<string, Node>();
  const globalOptions = program.options.flatMap((o) => [o.short, o.long].filter((x): x is string => x !== undefined));
  const visit = (cmd: Command, path: string) => {
    const options =
      cmd === program
        ? globalOptions
        : [...cmd.options.flatMap((o) => [o.short, o.long].filter((x): x is string => x !== undefined)), ...globalOptions];
    nodes.set(path, { words: cmd.commands.map((c) => c.name()), options: [...options, '--help'] });
    for (const sub of cmd.commands) visit(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  visit(program, '');
  return nodes;
}

/**
 * A completion script for bash, or for zsh through its bash completion layer (bashcompinit). It
 * completes commands, subcommands and options from the CLI's own definition, and file names after
 * options that take files.
 */
export function completionScript(program: Command, shell: 'bash' | 'zsh'): string {
  const cases = [...tree(program)]
    .map(([path, node]) => `    "${path}") words="${node.words.join(' ')}"; opts="${node.options.join(' ')}" ;;`)
    .join('\n');
  const bash = `# labplane completion for ${shell}
_labplane() {
  local cur prev path="" words="" opts="" i w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    --roster|--file|-f|--ssh-key-file) COMPREPLY=( $(compgen -f -- "$cur") ); return 0 ;;
    -o|--output) COMPREPLY=( $(compgen -W "table json yaml" -- "$cur") ); return 0 ;;
    completion) COMPREPLY=( $(compgen -W "bash zsh" -- "$cur") ); return 0 ;;
  esac
  for (( i=1; i<COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${[...tree(program).keys()]
  .filter((p) => p !== '')
  .map((p) => `      "${p}") path="${p}" ;;`)
  .join('\n')}
    esac
  done
  case "$path" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  fi
}
complete -F _labplane labplane
`;
  return shell === 'bash' ? bash : `autoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
