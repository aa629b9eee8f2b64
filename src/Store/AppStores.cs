using System.Net;
using Npgsql;

namespace LeanProxy.Store;

/// <summary>Opens a store from its URI: <c>sqlite:PATH</c> or <c>postgres://USER:PASSWORD@HOST:PORT/DB?…</c>.</summary>
public static class AppStores
{
    /// <summary>Query parameters a postgres URI may carry, and the connection-string keyword each becomes.</summary>
    private static readonly Dictionary<string, string> PostgresParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sslmode"] = "SSL Mode",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["command_timeout"] = "Command Timeout",
        ["pool_max"] = "Maximum Pool Size",
    };

    /// <summary>Checks a store URI without opening anything; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static void Check(string uri)
    {
        if (uri.StartsWith("postgres://", StringComparison.Ordinal) || uri.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            ParsePostgres(uri);
            return;
        }

        ParseSqlite(uri);
    }

    /// <summary>Opens (does not connect to) the store; throws <see cref="ArgumentException"/> with a message for the user.</summary>
    public static IAppStore Open(string uri)
    {
        if (uri.StartsWith("postgres://", StringComparison.Ordinal) || uri.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            var (connectionString, description) = ParsePostgres(uri);
            return new PostgresAppStore(connectionString, description);
        }

        return new SqliteAppStore(ParseSqlite(uri));
    }

    private static string ParseSqlite(string uri)
    {
        if (!uri.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            throw new ArgumentException($"--store {Redact(uri)}: expected sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.");
        }

        var path = uri["sqlite:".Length..];
        if (path.StartsWith("//", StringComparison.Ordinal))
        {
            path = path[2..];
        }

        if (path.Length == 0)
        {
            throw new ArgumentException("--store sqlite:PATH needs a file path, e.g. sqlite:/var/lib/leanproxy/store.db.");
        }

        return path;
    }

    internal static (string ConnectionString, string Description) ParsePostgres(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || string.IsNullOrEmpty(parsed.Host))
        {
            throw new ArgumentException($"--store {Redact(uri)}: not a valid postgres://USER:PASSWORD@HOST:PORT/DB URI.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = parsed.Host.Trim('[', ']'),
            Port = parsed.IsDefaultPort || parsed.Port <= 0 ? 5432 : parsed.Port,
            Database = Uri.UnescapeDataString(parsed.AbsolutePath.Trim('/')) is { Length: > 0 } db ? db : "postgres",
        };
        var userInfo = parsed.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0)
        {
            builder.Username = Uri.UnescapeDataString(userInfo[0]);
        }

        if (userInfo.Length == 2)
        {
            builder.Password = Uri.UnescapeDataString(userInfo[1]);
        }

        foreach (var pair in parsed.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.IndexOf('=') is var equals and > 0
                ? (Uri.UnescapeDataString(pair[..equals]), Uri.UnescapeDataString(pair[(equals + 1)..]))
                : (Uri.UnescapeDataString(pair), string.Empty);
            if (!PostgresParameters.TryGetValue(key, out var keyword))
            {
                throw new ArgumentException($"--store {Redact(uri)}: unknown parameter '{key}' (known: {string.Join(", ", PostgresParameters.Keys)}).");
            }

            try
            {
                builder[keyword] = value;
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"--store {Redact(uri)}: {key}={value}: {ex.Message}");
            }
        }

        return (builder.ConnectionString,
            $"postgres://{(builder.Username is { } user ? WebUtility.UrlEncode(user) + "@" : string.Empty)}{builder.Host}:{builder.Port}/{builder.Database}");
    }

    /// <summary>The URI without its password, for messages and logs.</summary>
    public static string Redact(string uri)
    {
        var at = uri.IndexOf('@', StringComparison.Ordinal);
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || scheme < 0 || at < scheme)
        {
            return uri;
        }

        var colon = uri.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? uri[..(colon + 1)] + "***" + uri[at..] : uri;
    }
}
