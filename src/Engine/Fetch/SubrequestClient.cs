using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using LeanProxy.Engine.Egress;

namespace LeanProxy.Engine.Fetch;

/// <summary>
/// The HTTP client of one app version's subrequests: pooled connections, HTTP/1.1 and HTTP/2 (by ALPN), TLS with the
/// system's trust store (and <c>--ca-file</c>'s), no cookie jar, no cache, no redirect of its own (the subrequest
/// follows them itself, hop by hop). Every connection it opens goes where the app's <see cref="EgressPolicy"/> says:
/// the name is resolved and decided on by the policy, and the socket connects to the addresses it returned — so a
/// name that resolves, or later re-resolves, to a private address is refused. One per app version: a pooled connection
/// is never reused for an app whose policy did not allow it. Made at the first subrequest (a host that never makes one
/// never loads TLS).
/// </summary>
internal sealed class SubrequestClient : IDisposable
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly HttpMessageInvoker _invoker;
    private readonly X509Certificate2Collection? _extraRoots;

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000", Justification = "The invoker owns the handler (disposeHandler: true).")]
    public SubrequestClient(EgressPolicy policy, string? caFile)
    {
        if (caFile is not null)
        {
            _extraRoots = [];
            _extraRoots.ImportFromPemFile(caFile);
        }

        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = ConnectTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxResponseHeadersLength = 128, // KiB, as Workers' limit on headers
            ConnectCallback = (context, cancellationToken) => ConnectAsync(policy, context.DnsEndPoint, cancellationToken),
        };
        if (_extraRoots is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = Validate;
        }

        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    public void Dispose()
    {
        _invoker.Dispose();
        if (_extraRoots is not null)
        {
            foreach (var root in _extraRoots)
            {
                root.Dispose();
            }
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000", Justification = "The stream owns the socket (ownsSocket: true); the catch disposes it otherwise.")]
    private static async ValueTask<Stream> ConnectAsync(EgressPolicy policy, DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        var (addresses, refusal) = await policy.ResolveAsync(endPoint.Host, endPoint.Port, cancellationToken).ConfigureAwait(false);
        if (refusal is not null)
        {
            throw new EgressRefusedException(refusal);
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(addresses, endPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The system's trust store first; a chain that only fails to reach a trusted root may end at a <c>--ca-file</c> root.</summary>
    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || _extraRoots is null)
        {
            return false; // a name that does not match, or no certificate: never
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_extraRoots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }
}
