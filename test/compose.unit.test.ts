import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  container_name?: string;
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  it('has redis with AOF on a volume, and the three roles from one image', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'subscriber', 'worker']);
    const redis = compose.services.redis;
    expect(redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis?.volumes).toEqual(['redis-data:/data']);
    expect(compose.volumes).toHaveProperty('redis-data');
    for (const role of ['api', 'subscriber', 'worker']) {
      const service = compose.services[role];
      expect(service?.image).toBe('sf-cm-bridge:local');
      expect(service?.command).toEqual([role]);
      expect(service?.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service?.depends_on?.redis?.condition).toBe('service_healthy');
    }
  });

  it('every role the compose file runs is a command of the CLI', async () => {
    const { COMMANDS } = await import('../src/cli/main.ts');
    const names = COMMANDS.map((c) => c.name);
    for (const service of ['api', 'subscriber', 'worker'])
      expect(names).toContain(compose.services[service]?.command?.[0]);
  });

  it('keeps worker scalable with --scale (no fixed ports or container name)', () => {
    const worker = compose.services.worker;
    expect(worker?.ports).toBeUndefined();
    expect(worker?.container_name).toBeUndefined();
  });

  it('the Dockerfile runs the bin as a non-root user on a current LTS', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^FROM node:(22|24)-/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["node", "bin/sf-cm-bridge.js"]');
  });
});
