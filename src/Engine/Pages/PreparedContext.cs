using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Engine.Browser;
using LeanProxy.Engine.Egress;
using Microsoft.Extensions.Logging;

namespace LeanProxy.Engine.Pages;

/// <summary>
/// A browser context prepared ahead for the next app a node starts (a cold start): its page server (no app yet), its
/// egress proxy (refusing everything it would refuse for any app), the context with its network through that proxy,
/// and one tab on which the page runtime is loaded. <see cref="Apps.AppHost"/> turns it into an app's: the server
/// serves the app's bundle, the proxy takes the app's policy and name, and the tab only imports the app's modules.
/// </summary>
public sealed class PreparedContext : IAsyncDisposable
{
    private CdpSession? _tab;
    private int _adopted;

    private PreparedContext(PageServer pageServer, EgressProxy egress, CdpConnection connection, string contextId)
    {
        PageServer = pageServer;
        Egress = egress;
        Connection = connection;
        ContextId = contextId;
    }

    internal PageServer PageServer { get; }

    internal EgressProxy Egress { get; }

    internal CdpConnection Connection { get; }

    internal string ContextId { get; }

    /// <summary>Its browser is still the one running and its tab is alive.</summary>
    internal bool IsUsable(BrowserHost browser) =>
        Volatile.Read(ref _adopted) == 0 && browser.Connection == Connection && !Connection.IsClosed && Volatile.Read(ref _tab) is { IsEnded: false };

    /// <summary>Prepares a context in <paramref name="browser"/>; returns once the runtime is loaded in its tab.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2000",
        Justification = "The prepared context owns the page server and egress proxy; the catch disposes them when it was not made.")]
    public static async Task<PreparedContext> PrepareAsync(BrowserHost browser, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        var pageServer = new PageServer(loggerFactory.CreateLogger("LeanProxy.PageServer"));
        pageServer.Start();
        var egress = EgressProxy.Start(new EgressPolicy([]), "(prepared)", loggerFactory.CreateLogger("LeanProxy.Egress"));
        var connection = browser.Connection;
        PreparedContext? prepared = null;
        try
        {
            prepared = new PreparedContext(pageServer, egress, connection,
                await CdpPageFactory.CreateContextAsync(connection, pageServer, egress, cancellationToken).ConfigureAwait(false));
            var tab = await CdpPageFactory.OpenTargetAsync(connection, pageServer.BootstrapUrl, prepared.ContextId, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref prepared._tab, tab);
            await WaitForRuntimeAsync(tab, cancellationToken).ConfigureAwait(false);
            return prepared;
        }
        catch
        {
            if (prepared is not null)
            {
                await prepared.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                await pageServer.DisposeAsync().ConfigureAwait(false);
                await egress.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>The app host takes it over (once): false when it was taken or disposed before.</summary>
    internal bool TryAdopt() => Interlocked.Exchange(ref _adopted, 1) == 0;

    /// <summary>The prepared tab, for the app's first tab (once).</summary>
    internal CdpSession? TakeTab() => Interlocked.Exchange(ref _tab, null);

    private static async Task WaitForRuntimeAsync(CdpSession tab, CancellationToken cancellationToken)
    {
        while (true)
        {
            var ready = await tab.SendAsync(
                CdpMethods.RuntimeEvaluate,
                0,
                static (writer, _) =>
                {
                    writer.WriteString("expression"u8, "typeof __lpAdopt === 'function'"u8);
                    writer.WriteBoolean("returnByValue"u8, true);
                },
                static json => json.IndexOf("\"value\":true"u8) >= 0,
                cancellationToken).ConfigureAwait(false);
            if (ready)
            {
                return;
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Closes what was prepared, unless an app host took it over.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!TryAdopt())
        {
            return;
        }

        if (!Connection.IsClosed)
        {
            await CdpPageFactory.DisposeContextAsync(Connection, ContextId).ConfigureAwait(false);
        }

        await PageServer.DisposeAsync().ConfigureAwait(false);
        await Egress.DisposeAsync().ConfigureAwait(false);
    }
}
