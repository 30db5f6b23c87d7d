/** One line saying which storage a daemon uses, for its startup log. */
import type { StorageOptions } from '@distci/common';

export function describeStorage(o: StorageOptions): string {
  const c = o.coordination;
  const b = o.blob;
  const coordination = c.type === 'zookeeper' ? `zookeeper ${c.connect}${c.chroot}` : `embedded ${c.dataDir}`;
  const objects = b.type === 's3' ? `s3 ${b.endpoint}/${b.bucket}` : `directory ${b.dir}`;
  return `coordination ${coordination}, objects ${objects}`;
}
