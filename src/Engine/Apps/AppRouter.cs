using System.Collections.Concurrent;
using System.Text;
using LeanProxy.Listener;

namespace LeanProxy.Engine.Apps;

/// <summary>
/// The HTTP listener's handler: picks the app host for each request. <c>serve APP</c> routes everything to its one app
/// host; a node routes by <c>Host: NAME.DOMAIN[:port]</c> to the app NAME, asks its <see cref="IAppHostSource"/> for
/// apps not started yet, and swaps versions with <see cref="Swap(string, AppHost)"/>. An unknown app gets 404.
/// </summary>
public sealed class AppRouter : IProxyRequestHandler
{
    /// <summary>The longest host name (DNS).</summary>
    private const int MaxHostLength = 253;

    private readonly ConcurrentDictionary<string, AppHost> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AppHost>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly string? _domainSuffix;
    private readonly IAppHostSource? _source;
    private AppHost? _default;

    private AppRouter(string? domain, IAppHostSource? source)
    {
        _lookup = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
        _domainSuffix = domain is null ? null : "." + domain.ToLowerInvariant();
        _source = source;
    }

    public AppRouter()
        : this(null, null)
    {
    }

    /// <summary>A router that sends <c>NAME.DOMAIN</c> to the app NAME.</summary>
    public static AppRouter ByHost(string domain, IAppHostSource source) => new(domain, source);

    /// <summary>Single-app mode: sends new requests to <paramref name="next"/>; requests in flight on the previous host
    /// finish there. Returns the previous host.</summary>
    public AppHost? Swap(AppHost next) => Interlocked.Exchange(ref _default, next);

    /// <summary>By-host mode: routes NAME to <paramref name="next"/> from now on; returns the host it replaced, if any.</summary>
    public AppHost? Swap(string name, AppHost next)
    {
        AppHost? previous = null;
        _byName.AddOrUpdate(name, next, (_, old) =>
        {
            previous = old;
            return next;
        });
        return previous;
    }

    /// <summary>By-host mode: stops routing NAME (it gets 404, or is started again from the source); returns its host.</summary>
    public AppHost? Remove(string name) => _byName.TryRemove(name, out var host) ? host : null;

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
    {
        if (_source is null)
        {
            return Volatile.Read(ref _default) is { } app
                ? app.HandleAsync(request, cancellationToken)
                : ValueTask.FromResult(ProxyResponse.Text(404, "Not Found: no app is deployed here"));
        }

        Span<char> buffer = stackalloc char[MaxHostLength];
        if (!TryGetAppName(request.Host, _domainSuffix!, buffer, out var length))
        {
            return ValueTask.FromResult(ProxyResponse.Text(404,
                $"Not Found: {Encoding.ASCII.GetString(request.Host)} is not an app of this node (expected NAME{_domainSuffix})"));
        }

        return _lookup.TryGetValue(buffer[..length], out var host)
            ? host.HandleAsync(request, cancellationToken)
            : StartAndHandleAsync(new string(buffer[..length]), request, cancellationToken);
    }

    private async ValueTask<ProxyResponse> StartAndHandleAsync(string name, ProxyRequest request, CancellationToken cancellationToken)
    {
        AppHost? host;
        try
        {
            host = await _source!.GetAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (AppUnavailableException ex)
        {
            var unavailable = ProxyResponse.Text(503, $"Service Unavailable: the app {name} cannot start now: {ex.Message}");
            unavailable.Headers.Add(new("Retry-After", "1"));
            return unavailable;
        }

        return host is null
            ? ProxyResponse.Text(404, $"Not Found: there is no app named {name}")
            : await host.HandleAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The app name of a Host header value: <c>NAME.DOMAIN</c> or <c>NAME.DOMAIN:PORT</c>, case-insensitive, NAME a DNS
    /// label. Writes the lower-case name into <paramref name="name"/>.
    /// </summary>
    public static bool TryGetAppName(ReadOnlySpan<byte> host, string domainSuffix, Span<char> name, out int length)
    {
        length = 0;
        var colon = host.LastIndexOf((byte)':');
        if (colon >= 0 && host.IndexOf((byte)']') < 0)
        {
            host = host[..colon];
        }

        if (host.Length > MaxHostLength || host.Length <= domainSuffix.Length || host.Length > name.Length)
        {
            return false;
        }

        for (var i = 0; i < host.Length; i++)
        {
            var c = (char)host[i];
            name[i] = c is >= 'A' and <= 'Z' ? (char)(c + 32) : c;
        }

        var full = name[..host.Length];
        if (!full.EndsWith(domainSuffix, StringComparison.Ordinal))
        {
            return false;
        }

        length = host.Length - domainSuffix.Length;
        return AppNames.IsValid(name[..length]);
    }
}
