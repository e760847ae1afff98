// The runnable parts of a guide in Markdown: fenced blocks in order, with the command lines of shell
// blocks, and the HTML comment (invisible when rendered) that may precede a block to say what it is.
export interface Block {
  lang: string;
  text: string;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  /** The content of an `<!-- … -->` line right before the fence, if any. */
  marker: string | undefined;
}

export function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] as string);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
    if (end < 0) throw new Error(`unclosed code block at line ${i + 1}`);
    const before = lines[i - 1] ?? "";
    const marker = /^<!--\s*(.*?)\s*-->$/.exec(before)?.[1];
    blocks.push({ lang: open[1] as string, text: lines.slice(i + 1, end).join("\n"), line: i + 1, marker });
    i = end;
  }
  return blocks;
}

/** The commands of a shell block: one per line, `\` continues a line, comments and blank lines skipped. */
export function commandsOf(block: Block): string[] {
  const commands: string[] = [];
  let current = "";
  for (const line of block.text.split("\n")) {
    if (current === "" && (line.trim() === "" || line.trim().startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    commands.push((current + line).trim());
    current = "";
  }
  return commands;
}
