// aws-sdk-js v3 against Overcast: S3 bucket, put and get an object, SQS send and receive.
// Usage: node sdk_v3.cjs ENDPOINT NAME  (the SDK packages come from NODE_PATH)
const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } = require("@aws-sdk/client-s3");
const { SQSClient, CreateQueueCommand, SendMessageCommand, ReceiveMessageCommand } = require("@aws-sdk/client-sqs");

const [endpoint, name] = process.argv.slice(2);

async function main() {
  // As docs/clients.md shows it: the endpoint, a region, dummy keys, path-style S3.
  const s3 = new S3Client({
    endpoint: endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
    forcePathStyle: true,
  });
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  await s3.send(new PutObjectCommand({ Bucket: name, Key: "hello.txt", Body: "hello from node" }));
  const object = await s3.send(new GetObjectCommand({ Bucket: name, Key: "hello.txt" }));
  const body = await object.Body.transformToString();

  // No options at all: endpoint, region and keys from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID.
  const sqs = new SQSClient({});
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "ping from node" }));
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
  const messages = (received.Messages || []).map((m) => m.Body);
  console.log(JSON.stringify({ body, queueUrl: QueueUrl, messages }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
