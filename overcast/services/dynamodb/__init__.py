"""DynamoDB: tables, items, the expression language, indexes, transactions, streams."""
