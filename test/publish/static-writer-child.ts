/**
 * A child process for static-dir.test.ts: publishes a growing log into
 * argv[2] as fast as it can, one checkpoint size after another, until it is
 * killed. Its store lives under argv[3].
 */
import { StaticLogDir } from "../../service/publish/static-dir";
import { tileQueriesReader } from "../../service/publish/continuous";
import { tlogFixture } from "../tlog/fixture";

async function main(): Promise<void> {
  const fx = await tlogFixture(3000, 1000, process.argv[3]);
  const d = await StaticLogDir.open(process.argv[2]!);
  const source = tileQueriesReader(fx.tiles);
  for (let size = 1; ; size = (size % 3000) + 1 + Math.floor(size / 7)) {
    if (size < (await d.size())) continue;
    fx.publish(size);
    await d.publish(source);
  }
}

// Only when run as the child: mocha loads every file under test/, and must not start the loop.
if (require.main === module) void main();
