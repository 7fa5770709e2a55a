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

/** The instructions of the image's last stage (what ships), continuation lines joined. */
function runtimeStage(): string[] {
  const instructions = readFileSync('Dockerfile', 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const lastFrom = instructions.findLastIndex((line) => line.startsWith('FROM '));
  return instructions.slice(lastFrom);
}

describe("the image (the Dockerfile's runtime stage)", () => {
  const stage = runtimeStage();
  const lines = (instruction: string) => stage.filter((line) => line.startsWith(`${instruction} `));

  it('is built in two stages: the runtime stage starts from node, not from the build stage', () => {
    expect(readFileSync('Dockerfile', 'utf8').match(/^FROM /gm)).toHaveLength(2);
    expect(stage[0]).toMatch(/^FROM node:(22|24)-slim$/);
  });

  it('installs the production dependencies only, without running the build scripts', () => {
    const installs = lines('RUN').filter((line) => line.includes('npm ci'));
    expect(installs).toHaveLength(1);
    expect(installs[0]).toContain('--omit=dev');
    expect(installs[0]).toContain('--ignore-scripts');
    expect(stage.join('\n')).not.toMatch(/tsx|esbuild|typescript|npm run build/);
  });

  it('copies the compiled dist/ from the build stage, and no sources, tests or workspace packages', () => {
    const sources = lines('COPY').flatMap((line) => line.split(/\s+/).slice(1, -1));
    expect(sources).toEqual(['package.json', 'package-lock.json', '--from=build', '/build/dist', 'bin', 'config']);
    expect(sources.filter((source) => /^(\.\/)?(src|test|packages|bench|scripts)\b/.test(source))).toEqual([]);
  });

  it('runs as a non-root user with a health check that every role answers', () => {
    expect(lines('USER')).toEqual(['USER node']);
    const [healthcheck] = lines('HEALTHCHECK');
    expect(healthcheck).toMatch(/CMD \["node", "bin\/sf-cm-bridge\.js", "health"\]$/);
  });
});
