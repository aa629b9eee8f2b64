using System.Diagnostics;
using LeanProxy.Engine.Apps;
using LeanProxy.Store;

namespace LeanProxy.Host.Node;

/// <summary>A node's app versions: starting one (from the store's archive, in a prepared context) and retiring one.</summary>
internal sealed partial class NodeApps
{
    /// <summary>Starts a version whose first tabs the caller took from the budget (given back here when the start fails).</summary>
    private async Task<AppHost> StartVersionAsync(StoredApp app, CancellationToken cancellationToken)
    {
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var archive = await GetArchiveAsync(app, cancellationToken).ConfigureAwait(false);
            var bundle = BundleArchive.Read(app.Name, archive);
            var options = _options.App with
            {
                Variables = app.Variables,
                KvBindings = app.Kv,
                Version = app.ActiveVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Budget = _budget,
            };
            var host = AppHost.Create(bundle, options, _loggerFactory, Kv);
            var prepared = _spares?.TryTake();
            try
            {
                await host.StartAsync(_browser, prepared, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                if (prepared is not null)
                {
                    await prepared.DisposeAsync().ConfigureAwait(false); // nothing when the app took it over
                }
            }

            NodeLog.Started(_logger, app.Name, app.ActiveVersion, stopwatch.ElapsedMilliseconds);
            return host;
        }
        catch
        {
            _budget.Give(_options.App.Tabs);
            throw;
        }
    }

    private async Task<byte[]> GetArchiveAsync(StoredApp app, CancellationToken cancellationToken)
    {
        byte[]? archive;
        try
        {
            archive = await _store.GetArchiveAsync(app.Sha256, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new AppUnavailableException($"the store {_store.Description} is unreachable", ex);
        }

        if (archive is null)
        {
            throw new AppUnavailableException($"the store has no bundle {app.Sha256}");
        }

        return archive;
    }

    /// <summary>A version's identity: its number, bundle, variables and KV bindings.</summary>
    private static string Identity(StoredApp app)
    {
        var variables = string.Join('&', app.Variables.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => v.Key + "=" + v.Value));
        return $"{app.ActiveVersion}|{app.Sha256}|{variables}|{string.Join(',', app.Kv)}";
    }

    /// <summary>An old version: requests that picked it just before the switch arrive, then it drains and stops.</summary>
    private async Task RetireAsync(AppHost host)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        host.ReleaseTabs();
        await Task.Delay(_options.SwitchGrace).ConfigureAwait(false);
        await host.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        NodeLog.Retired(_logger, host.Name, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
