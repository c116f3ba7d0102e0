// A small Markdown renderer that builds React elements, so user text is
// always escaped: no HTML from messages ever reaches the DOM as markup.
import { Fragment, type ReactNode } from "react";

export interface MdContext {
  userName: (id: string) => string;
  channelName: (id: string) => string;
  highlights?: [number, number][];
}

const inlineRe =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\n]+\*|_[^_\n]+_)|(~[^~\n]+~)|(<@[\w-]+>)|(<#[\w-]+>)|(@channel|@here)|(https?:\/\/[^\s<>()]+)/g;

function inline(text: string, ctx: MdContext, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let i = 0;
  for (const m of text.matchAll(inlineRe)) {
    const idx = m.index ?? 0;
    if (idx > last) out.push(text.slice(last, idx));
    const s = m[0];
    const k = `${key}-${i++}`;
    if (m[1]) out.push(<code key={k}>{s.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong key={k}>{inline(s.slice(2, -2), ctx, k)}</strong>);
    else if (m[3]) out.push(<em key={k}>{inline(s.slice(1, -1), ctx, k)}</em>);
    else if (m[4]) out.push(<del key={k}>{s.slice(1, -1)}</del>);
    else if (m[5]) out.push(<span key={k} className="mention">@{ctx.userName(s.slice(2, -1))}</span>);
    else if (m[6]) out.push(<span key={k} className="chanlink">#{ctx.channelName(s.slice(2, -1))}</span>);
    else if (m[7]) out.push(<span key={k} className="mention">{s}</span>);
    else if (m[8])
      out.push(
        <a key={k} href={s} target="_blank" rel="noopener noreferrer nofollow">
          {s}
        </a>,
      );
    last = idx + s.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

// highlightText marks character ranges (search results) without Markdown.
export function highlightText(text: string, ranges: [number, number][]): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  const chars = Array.from(text);
  ranges
    .slice()
    .sort((a, b) => a[0] - b[0])
    .forEach(([s, e], i) => {
      if (s < last) return;
      out.push(chars.slice(last, s).join(""));
      out.push(<mark key={i}>{chars.slice(s, e).join("")}</mark>);
      last = e;
    });
  out.push(chars.slice(last).join(""));
  return out;
}

export function Markdown({ text, ctx }: { text: string; ctx: MdContext }) {
  const blocks: ReactNode[] = [];
  const parts = text.split(/```/);
  parts.forEach((part, pi) => {
    if (pi % 2 === 1) {
      blocks.push(<pre key={`c${pi}`}><code>{part.replace(/^\n/, "")}</code></pre>);
      return;
    }
    const lines = part.split("\n");
    let list: ReactNode[] = [];
    const flush = (k: string) => {
      if (list.length) blocks.push(<ul key={k}>{list}</ul>);
      list = [];
    };
    lines.forEach((line, li) => {
      const k = `${pi}-${li}`;
      if (/^\s*[-*] /.test(line)) {
        list.push(<li key={k}>{inline(line.replace(/^\s*[-*] /, ""), ctx, k)}</li>);
        return;
      }
      flush(`u${k}`);
      if (line.startsWith("> ")) blocks.push(<blockquote key={k}>{inline(line.slice(2), ctx, k)}</blockquote>);
      else if (line === "" && li > 0 && li < lines.length - 1) blocks.push(<br key={k} />);
      else if (line !== "") blocks.push(<p key={k}>{inline(line, ctx, k)}</p>);
    });
    flush(`u${pi}-end`);
  });
  return <Fragment>{blocks}</Fragment>;
}
