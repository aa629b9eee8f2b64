using System.Globalization;

namespace LeanProxy.Store;

/// <summary>The live logs relayed between nodes (tables <c>lp_tails</c> and <c>lp_logs</c>).</summary>
public abstract partial class SqlAppStore
{
    /// <summary>How long a relayed line is kept (a reader reads every fraction of a second).</summary>
    public static readonly TimeSpan LogRetention = TimeSpan.FromMinutes(2);

    /// <summary>Every 8th write also removes what is older than <see cref="LogRetention"/>.</summary>
    private long _logWrites;

    public async Task KeepTailAsync(string app, long until, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null,
            "INSERT INTO lp_tails (app, until_at) VALUES (@app, @until) ON CONFLICT (app) DO UPDATE SET until_at = CASE WHEN excluded.until_at > " +
                "lp_tails.until_at THEN excluded.until_at ELSE lp_tails.until_at END",
            cancellationToken, ("app", app), ("until", until)).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> TailedAppsAsync(long now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT app FROM lp_tails WHERE until_at > @now", ("now", now));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var apps = new List<string>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            apps.Add(reader.GetString(0));
        }

        return apps;
    }

    public async Task AppendLogsAsync(IReadOnlyList<(string App, string Node, long At, string Line)> lines, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chunk in lines.Chunk(100))
        {
            var values = string.Join(", ", chunk.Select((_, i) => string.Create(CultureInfo.InvariantCulture, $"(@a{i}, @n{i}, @t{i}, @l{i})")));
            var parameters = chunk.SelectMany((line, i) => new (string, object)[]
            {
                ("a" + i.ToString(CultureInfo.InvariantCulture), line.App),
                ("n" + i.ToString(CultureInfo.InvariantCulture), line.Node),
                ("t" + i.ToString(CultureInfo.InvariantCulture), line.At),
                ("l" + i.ToString(CultureInfo.InvariantCulture), line.Line),
            }).ToArray();
            await ExecuteAsync(connection, null, "INSERT INTO lp_logs (app, node, at, line) VALUES " + values, cancellationToken,
                parameters).ConfigureAwait(false);
        }

        if (Interlocked.Increment(ref _logWrites) % 8 == 0)
        {
            await ExecuteAsync(connection, null, "DELETE FROM lp_logs WHERE at < @before", cancellationToken,
                ("before", lines[0].At - (long)LogRetention.TotalSeconds)).ConfigureAwait(false);
        }
    }

    public async Task<long> LastLogAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM lp_logs", cancellationToken).ConfigureAwait(false),
            CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<RelayedLine>> ReadLogsAsync(string app, long after, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, "SELECT seq, line FROM lp_logs WHERE app = @app AND seq > @after ORDER BY seq LIMIT @limit",
            ("app", app), ("after", after), ("limit", limit));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var lines = new List<RelayedLine>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            lines.Add(new RelayedLine(Convert.ToInt64(reader.GetValue(0), CultureInfo.InvariantCulture), reader.GetString(1)));
        }

        return lines;
    }
}
