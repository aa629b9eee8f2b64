using System.Diagnostics;
using System.Text.Json;
using LeanProxy.Cdp;
using LeanProxy.Cdp.Protocol;
using LeanProxy.Engine.Apps;
using LeanProxy.Engine.Browser;
using LeanProxy.Engine.Tabs;

namespace LeanProxy.Engine.Pages;

/// <summary>
/// Opens an app version's pages in the browser: every tab in its own window of the app's own browser context (own
/// storage, cookies and renderers), directly on the page server's bootstrap page, and waits until the app is loaded.
/// The context's network goes through the app's <see cref="Egress.EgressProxy"/>, all of it but the app's own page server.
/// With a <see cref="PreparedContext"/>, the app's first context and first tab are the ones prepared ahead.
/// </summary>
internal sealed class CdpPageFactory(BrowserHost browser, PageServer pageServer, Egress.EgressProxy? egress = null,
    PreparedContext? prepared = null) : IPageFactory
{
    private string? _browserContextId = prepared?.ContextId;
    private int _preparedContextUnused = prepared is null ? 0 : 1;
    private CdpSession? _preparedTab = prepared?.TakeTab();

    public bool IsAvailable => !browser.Connection.IsClosed;

    public async Task ResetContextAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _preparedContextUnused, 0) == 1 && prepared!.Connection == browser.Connection && !browser.Connection.IsClosed)
        {
            return; // the context prepared ahead is the app's first
        }

        Interlocked.Exchange(ref _preparedTab, null);
        Volatile.Write(ref _browserContextId, await CreateContextAsync(browser.Connection, pageServer, egress, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A new browser context whose network goes through <paramref name="egress"/>, all of it but <paramref name="pageServer"/>.</summary>
    internal static async Task<string> CreateContextAsync(CdpConnection connection, PageServer pageServer, Egress.EgressProxy? egress,
        CancellationToken cancellationToken)
    {
        var context = await connection.SendAsync(
            CdpMethods.TargetCreateBrowserContext,
            new CreateBrowserContextParams(
                ProxyServer: egress?.ProxyServer,
                ProxyBypassList: egress is null ? null : $"<-loopback>;{pageServer.Host}:{pageServer.Origin.Port}"),
            CdpJsonContext.Default.CreateBrowserContextParams,
            CdpJsonContext.Default.CreateBrowserContextResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return context.BrowserContextId;
    }

    /// <summary>Opens a tab on <paramref name="url"/> in <paramref name="contextId"/> and attaches to it.</summary>
    internal static async Task<CdpSession> OpenTargetAsync(CdpConnection connection, Uri url, string? contextId, CancellationToken cancellationToken)
    {
        var target = await connection.SendAsync(
            CdpMethods.TargetCreateTarget,
            new CreateTargetParams(url.ToString(), contextId, NewWindow: true),
            CdpJsonContext.Default.CreateTargetParams,
            CdpJsonContext.Default.CreateTargetResult,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return await connection.AttachAsync(target.TargetId, cancellationToken).ConfigureAwait(false);
    }

    public async Task DisposeContextAsync()
    {
        if (Volatile.Read(ref _browserContextId) is { } id)
        {
            await DisposeContextAsync(browser.Connection, id).ConfigureAwait(false);
        }
    }

    /// <summary>Disposes a browser context (and its tabs), best effort: the browser may be about to close anyway.</summary>
    internal static async Task DisposeContextAsync(CdpConnection connection, string contextId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await connection.SendAsync(
                CdpMethods.TargetDisposeBrowserContext,
                new DisposeBrowserContextParams(contextId),
                CdpJsonContext.Default.DisposeBrowserContextParams,
                cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is CdpClosedException or CdpException or OperationCanceledException)
        {
            // Best effort.
        }
    }

    public async Task<IPageChannel> OpenAsync(Tab tab, CancellationToken cancellationToken)
    {
        var app = tab.App;
        var connection = browser.Connection;
        var stopwatch = Stopwatch.StartNew();

        // The tab prepared ahead has the runtime loaded: only the app's modules remain (adopted below, once the
        // bindings are there). Otherwise open the tab directly on the bootstrap page: the app's modules load while we
        // attach and enable below.
        var prepared = Interlocked.Exchange(ref _preparedTab, null);
        var adopted = prepared is { IsEnded: false } && prepared.Connection == connection ? prepared : null;
        var session = adopted ?? await OpenTargetAsync(connection, pageServer.BootstrapUrl, _browserContextId, cancellationToken).ConfigureAwait(false);
        var page = new CdpPage(tab, session, pageServer.Describe);
        try
        {
            // Subscribe before enabling and adding bindings, so that nothing is missed; bindings after Runtime.enable.
            page.Subscribe();
            await session.SendAsync(CdpMethods.RuntimeEnable, cancellationToken).ConfigureAwait(false);
            await session.SendAsync(CdpMethods.InspectorEnable, cancellationToken).ConfigureAwait(false);
            foreach (var name in app.Bindings.Names)
            {
                await session.SendAsync(CdpMethods.RuntimeAddBinding, new AddBindingParams(name), CdpJsonContext.Default.AddBindingParams,
                    cancellationToken).ConfigureAwait(false);
            }

            if (adopted is not null)
            {
                var expression = "__lpAdopt(" + (pageServer.ImportMap is { } map ? JsonSerializer.Serialize(map,
                    EngineJsonContext.Default.String) : "null") + ")";
                await session.SendAsync(
                    CdpMethods.RuntimeEvaluate,
                    expression,
                    static (writer, text) => writer.WriteString("expression"u8, text),
                    static _ => true,
                    cancellationToken).ConfigureAwait(false);
            }

            using var loadTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            loadTimeout.CancelAfter(app.Options.LoadTimeout);
            PageLoadStatus status;
            try
            {
                status = await WaitForLoadAsync(page, loadTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new AppLoadException($"The app did not finish loading within {app.Options.LoadTimeout.TotalSeconds} s (a top-level await that never " +
                    $"settles?).");
            }

            CheckLoaded(app, status);
            await OpenDataPlaneAsync(tab, session, cancellationToken).ConfigureAwait(false);
            EngineLog.TabReady(app.Logger, app.Name, tab.Index, stopwatch.ElapsedMilliseconds);
            return page;
        }
        catch
        {
            await page.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Has the page connect its data plane (a WebSocket to this app's page server, see <see cref="DataPlane.TabDataPlane"/>)
    /// and waits for it, briefly: a tab whose plane does not open still serves, its bodies inline in CDP.
    /// </summary>
    private async Task OpenDataPlaneAsync(Tab tab, CdpSession session, CancellationToken cancellationToken)
    {
        var plane = tab.Data;
        if (plane.InlineMax == int.MaxValue)
        {
            return;
        }

        pageServer.DataPlanes.Expect(plane);
        var expression = $"__lp.plane({JsonSerializer.Serialize(pageServer.DataPlaneUrl(plane), EngineJsonContext.Default.String)}, {plane.InlineMax})";
        string? opened;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // The page answers within 2 s whatever happens; this bounds a page that does not answer at all.
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                opened = await session.SendAsync(
                    CdpMethods.RuntimeEvaluate,
                    expression,
                    static (writer, text) =>
                    {
                        writer.WriteString("expression"u8, text);
                        writer.WriteBoolean("awaitPromise"u8, true);
                        writer.WriteBoolean("returnByValue"u8, true);
                    },
                    static json => ReadStringResult(json),
                    timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                opened = "the page did not answer within 5 s";
            }
        }

        if (opened == "open")
        {
            // The page saw the handshake's answer; the server side attaches as it sends it.
            await Task.WhenAny(plane.Opened, Task.Delay(TimeSpan.FromSeconds(2), cancellationToken)).ConfigureAwait(false);
        }

        if (!plane.IsOpen)
        {
            pageServer.DataPlanes.Forget(plane);
            EngineLog.DataPlaneNotOpened(tab.App.Logger, tab.App.Name, tab.Index, opened ?? "no answer");
        }
    }

    /// <summary>
    /// Asks the page how loading the app went: <c>__lpStatus()</c> resolves once the app is ready or failed. Until the
    /// bootstrap page's own script has run (the tab may still show its initial empty document), it is asked again.
    /// An uncaught exception reported meanwhile (Runtime.exceptionThrown) also settles the load.
    /// </summary>
    private static async Task<PageLoadStatus> WaitForLoadAsync(CdpPage page, CancellationToken cancellationToken)
    {
        while (true)
        {
            var status = page.Session.SendAsync(
                CdpMethods.RuntimeEvaluate,
                0,
                static (writer, _) =>
                {
                    writer.WriteString("expression"u8, "typeof __lpStatus === 'function' ? __lpStatus() : ''"u8);
                    writer.WriteBoolean("awaitPromise"u8, true);
                    writer.WriteBoolean("returnByValue"u8, true);
                },
                static json => ReadStringResult(json),
                cancellationToken).AsTask();
            var failure = page.LoadFailure.Task;
            var finished = await Task.WhenAny(status, failure).ConfigureAwait(false);
            if (finished == failure)
            {
                return await failure.ConfigureAwait(false);
            }

            var text = await status.ConfigureAwait(false);
            if (!string.IsNullOrEmpty(text))
            {
                return JsonSerializer.Deserialize(text, EngineJsonContext.Default.PageLoadStatus)
                    ?? throw new AppLoadException("The page reported an unreadable load status.");
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? ReadStringResult(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("value"u8))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
        }

        return null;
    }

    private void CheckLoaded(AppScope app, PageLoadStatus status)
    {
        var entry = app.Bundle.Describe(app.Bundle.EntryPath);
        switch (status.T)
        {
            case "ready":
                var missing = app.Options.RequiredExports.Where(e => status.Exports?.GetValueOrDefault(e) != true).ToArray();
                if (missing.Length > 0)
                {
                    throw new MissingExportException(missing,
                        $"{entry} has no export default {{ {string.Join(", ", missing)}() }}, which the configured listeners need.");
                }

                return;
            case "error":
                var location = string.IsNullOrEmpty(status.File) ? entry : pageServer.Describe(status.File);
                throw new AppLoadException($"{location}:{status.Line}:{status.Column}: {status.Message}");
            default:
                var missingFiles = pageServer.MissingPaths.Where(p => !p.StartsWith(PageServer.Prefix, StringComparison.Ordinal)).Distinct().ToArray();
                var where = app.Bundle.SourceRoot ?? "the bundle";
                throw new AppLoadException(missingFiles.Length > 0
                    ? $"{entry}: a module could not be loaded; not found in {where}: {string.Join(", ", missingFiles)}"
                    : $"{entry}: the module graph could not be loaded (a network import failed, or a file is not JavaScript).");
        }
    }
}
