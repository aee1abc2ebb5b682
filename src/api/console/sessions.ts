import { Gauge, type Registry } from 'prom-client';
import type { ConsoleSessionCounts, ConsoleType } from '../../domain/vms/console.js';

/** One open console, as the registry counts it. */
export interface ConsoleSessionEntry {
  readonly tenant: string;
  readonly vm: string;
  readonly type: ConsoleType;
  /** Bytes queued towards the browser and towards the VM, not yet written to their sockets. */
  pending(): { readonly toClient: number; readonly toVm: number };
}

/**
 * The consoles open in this API process: what the caps count (per tenant, per VM) and what the
 * active-sessions gauge shows. A slot is reserved before the upstream is dialled, so two tickets
 * redeemed at once cannot both pass a cap with one place left.
 */
export class ConsoleSessionRegistry implements ConsoleSessionCounts {
  private readonly entries = new Set<ConsoleSessionEntry>();

  open(tenant: string, vm?: string): number {
    let n = 0;
    for (const e of this.entries) if (e.tenant === tenant && (vm === undefined || e.vm === vm)) n += 1;
    return n;
  }

  add(entry: ConsoleSessionEntry): () => void {
    this.entries.add(entry);
    return () => {
      this.entries.delete(entry);
    };
  }

  /** Open consoles by type (the gauge). */
  countByType(): Record<ConsoleType, number> {
    const out: Record<ConsoleType, number> = { vnc: 0, serial: 0 };
    for (const e of this.entries) out[e.type] += 1;
    return out;
  }

  /** Every open console (tests look at the bytes each holds queued). */
  list(): readonly ConsoleSessionEntry[] {
    return [...this.entries];
  }
}

/** `labplane_console_sessions{type}`: consoles open in this process, read from the registry at scrape time. */
export function consoleSessionsGauge(registry: Registry, sessions: ConsoleSessionRegistry): Gauge<'type'> {
  return new Gauge({
    name: 'labplane_console_sessions',
    help: 'Console sessions (VNC and serial) open in this process.',
    labelNames: ['type'] as const,
    registers: [registry],
    collect() {
      for (const [type, n] of Object.entries(sessions.countByType())) this.set({ type }, n);
    },
  });
}
