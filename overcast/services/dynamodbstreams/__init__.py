"""DynamoDB Streams: the change records of DynamoDB tables, read by shard iterators."""
