using LeanProxy.Listener;

namespace LeanProxy.Engine.Apps;

/// <summary>
/// The HTTP listener's handler: picks the app host for each request. <c>serve APP</c> routes everything to its one
/// app host; a node (the deploy issue) adds app hosts by name and swaps versions with <see cref="Swap"/>.
/// </summary>
public sealed class AppRouter : IProxyRequestHandler
{
    private AppHost? _default;

    /// <summary>A router that sends every request to <paramref name="app"/>.</summary>
    public static AppRouter Single(AppHost app) => new() { _default = app };

    /// <summary>The app host requests go to now.</summary>
    public AppHost? Default => Volatile.Read(ref _default);

    /// <summary>Sends new requests to <paramref name="next"/>; requests in flight on the previous host finish there. Returns the previous host.</summary>
    public AppHost? Swap(AppHost next) => Interlocked.Exchange(ref _default, next);

    public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken) =>
        Volatile.Read(ref _default) is { } app
            ? app.HandleAsync(request, cancellationToken)
            : ValueTask.FromResult(ProxyResponse.Text(404, "Not Found: no app is deployed here"));
}
