import { describe, expect, it } from 'vitest';
import { rootRefusal } from './root-policy.ts';

const own = { dataDir: '/srv/lm/data', outputDir: '/srv/lm/outputs' };

describe('rootRefusal', () => {
  it('refuses the file system, system trees and what lies inside them', () => {
    for (const root of ['/', '/etc', '/etc/ssl', '/proc/self', '/proc/self/cwd', '/proc/self/root/tmp', '/usr', '/usr/share', '/boot', '/dev/shm', '/var/run', '/root/.ssh', '/home/me/.config', '/home/me/.config/loras']) {
      expect(rootRefusal(root, own), root).not.toBeNull();
    }
  });

  it('refuses shared top folders themselves but not a folder inside one', () => {
    for (const root of ['/var', '/home', '/root', '/mnt', '/tmp', '/opt']) expect(rootRefusal(root, own), root).not.toBeNull();
    for (const root of ['/home/me/loras', '/mnt/models/Lora', '/var/lib/loras', '/opt/sd/models/Lora', '/root/stable-diffusion-webui/models/Lora']) expect(rootRefusal(root, own), root).toBeNull();
  });

  it('refuses DATA_DIR, OUTPUT_DIR, folders inside them and folders holding them', () => {
    expect(rootRefusal('/srv/lm/data', own)).toMatch(/DATA_DIR/);
    expect(rootRefusal('/srv/lm/data/previews', own)).toMatch(/inside DATA_DIR/);
    expect(rootRefusal('/srv/lm', own)).toMatch(/contains DATA_DIR/);
    expect(rootRefusal('/srv/lm/outputs/x', own)).toMatch(/OUTPUT_DIR/);
    expect(rootRefusal('/srv/lm/loras', own)).toBeNull();
  });
});
