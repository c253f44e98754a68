-- key: feed, cursor_key
-- Watermarks: how far each feed has been committed. Moved only after the data MERGE commits.
CREATE TABLE IF NOT EXISTS ops.feed_cursors (
  feed STRING NOT NULL,
  cursor_key STRING NOT NULL,
  watermark TIMESTAMP,
  updated_at TIMESTAMP,
  details STRING
)
CLUSTER BY feed
OPTIONS (description = 'Feed watermarks (feed = databento|fred|news, cursor_key = root, series or query); key (feed, cursor_key)');
