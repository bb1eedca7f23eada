// The machine the numbers come from: they only mean something next to it.
import os from 'node:os';

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly cpuMHz: number;
  readonly memoryGB: number;
  readonly os: string;
  readonly node: string;
  readonly v8: string;
  readonly loadAverageAtStart: readonly number[];
}

export function describeMachine(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    cpuMHz: cpus[0]?.speed ?? 0,
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    loadAverageAtStart: os.loadavg().map((n) => Math.round(n * 100) / 100),
  };
}
