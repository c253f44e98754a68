-- The series' last @rows stored rows before @since: where an incremental build resumes.
SELECT date, contract_symbol, index_close
FROM market_data.futures_continuous_1d
WHERE root = @root AND date < @since
ORDER BY date DESC
LIMIT @rows
