using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using LeanProxy.Listener;
using LeanProxy.Listener.Http;

namespace LeanProxy.Benchmarks;

/// <summary>
/// The listener alone, with a trivial in-process handler answering like the peers' hello handler
/// (<c>{"method","path","n"}</c> as JSON): the upper bound of LeanProxy's HTTP side, for wrk and ../shared/peers/bench.sh.
/// Run: <c>dotnet bench/LeanProxy.Benchmarks/bin/Release/net10.0/LeanProxy.Benchmarks.dll listener 127.0.0.1:18080</c>.
/// </summary>
internal static class RawListener
{
    public static async Task<int> RunAsync(string address)
    {
        var colon = address.LastIndexOf(':');
        var endPoint = new IPEndPoint(IPAddress.Parse(address[..colon]), int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture));
        await using var listener = SocketListener.Bind(endPoint, new HttpDriver(new HelloHandler(), new HttpListenerOptions()), 10_000);
        listener.Start();
        Console.WriteLine($"listening http://{listener.EndPoint}");
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return 0;
    }

    private sealed class HelloHandler : IProxyRequestHandler
    {
        private int _n;

        public ValueTask<ProxyResponse> HandleAsync(ProxyRequest request, CancellationToken cancellationToken)
        {
            var target = request.TargetString;
            var query = target.IndexOf('?', StringComparison.Ordinal);
            var path = query < 0 ? target : target[..query];
            var n = Interlocked.Increment(ref _n);
            var response = new ProxyResponse(200)
            {
                Body = Encoding.UTF8.GetBytes($"{{\"method\":\"{request.Method}\",\"path\":\"{path}\",\"n\":{n}}}"),
            };
            response.Headers.Add(new("content-type", "application/json"));
            return ValueTask.FromResult(response);
        }
    }
}
