/**
 * The processes below this one, stopped for good before a sweep: a process that is still running
 * (or one it just started) could create another container after the sweep looked.
 *
 * `ps -A -o pid=,ppid=,stat=` reads the same on Linux (procps) and macOS (BSD ps). The tree is
 * first frozen with SIGSTOP, listing again until a listing shows no process not yet stopped (a
 * stopped process cannot start another), then killed with SIGKILL (which also ends a stopped
 * process), and waited for until none is left running (a zombie, state Z, runs nothing).
 */
import { execa } from 'execa';
import { pollUntil } from '../../helpers/run/poll.ts';

interface Proc {
  pid: number;
  ppid: number;
  stat: string;
}

/** The process table, without the `ps` that read it (a child of this process while it ran). */
async function processTable(): Promise<Proc[]> {
  const ps = execa('ps', ['-A', '-o', 'pid=,ppid=,stat='], { reject: false });
  const { stdout } = await ps;
  const out: Proc[] = [];
  for (const line of stdout.split('\n')) {
    const [pid, ppid, stat] = line.trim().split(/\s+/);
    if (pid && ppid && Number(pid) !== ps.pid) out.push({ pid: Number(pid), ppid: Number(ppid), stat: stat ?? '' });
  }
  return out;
}

/** Every live (not zombie) process below `root`, deepest first. */
export async function descendants(root: number = process.pid): Promise<number[]> {
  const table = await processTable();
  const children = new Map<number, number[]>();
  for (const p of table) {
    if (p.stat.startsWith('Z')) continue;
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      walk(c);
      found.push(c);
    }
  };
  walk(root);
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * Stops every process below this one for good: frozen, killed, and gone (within `deadlineMs`).
 * Returns the pids that were killed.
 */
export async function killDescendants(deadlineMs = 10_000): Promise<number[]> {
  const stopped = new Set<number>();
  // Freeze until a listing finds nothing new: none of them can start anything any more.
  await pollUntil('the processes below this one to be frozen', deadlineMs, async () => {
    const fresh = (await descendants()).filter((p) => !stopped.has(p));
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
    return fresh.length === 0 ? true : undefined;
  }, undefined, { intervalMs: 20 }).catch(() => undefined); // killed below whatever was found
  for (const p of stopped) signal(p, 'SIGKILL');
  await pollUntil('the killed processes to be gone', deadlineMs, async () => {
    const live = new Set((await processTable()).filter((p) => !p.stat.startsWith('Z')).map((p) => p.pid));
    return [...stopped].some((p) => live.has(p)) ? undefined : true;
  }, undefined, { intervalMs: 50 }).catch(() => undefined);
  return [...stopped];
}
