// Runs an SQS-compatible server (npm local-aws-sqs) for the events
// integration tests: node server.mjs [port], default 9324, bound to
// 127.0.0.1 only. Point the tests at it with
// TEST_SQS_ENDPOINT=http://127.0.0.1:9324.
import { createSqsServer } from "local-aws-sqs";

const port = Number(process.argv[2] || process.env.SQS_PORT || 9324);

await createSqsServer({
  port,
  hostname: "127.0.0.1",
  // Tests create and delete queues freely; AWS's 60 s wait before a name
  // can be reused would only slow them down.
  emulateQueueCreationLifecycle: false,
});
console.log(`local-aws-sqs listening on http://127.0.0.1:${port}`);
