using LeanProxy.Listener;

namespace LeanProxy.Host.Ops;

/// <summary>The <c>/v1/*</c> calls an admin listener serves once the caller passed its token check.</summary>
internal interface IAdminCalls
{
    /// <summary><paramref name="path"/> starts with <c>/v1/</c>; <paramref name="query"/> is what follows '?' (empty when none).</summary>
    ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, string path, string query, CancellationToken cancellationToken);
}
