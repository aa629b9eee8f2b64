namespace LeanProxy.Engine;

/// <summary>Datagrams: answered like requests, but a failure means no reply rather than an error status.</summary>
internal sealed partial class TabWorker
{
    private void CompleteDatagram(PendingDatagram datagram, in ResponseItem item)
    {
        switch (item.Kind)
        {
            case ResponseItemKind.DatagramReply:
                datagram.TryComplete(item.Data);
                return;
            case ResponseItemKind.DatagramNoReply:
                datagram.TryComplete(null);
                return;
            case ResponseItemKind.Failed when item.ErrorKind == "type":
                EngineLog.DatagramBadReturn(_logger, _pool.App.Name, datagram.Id, Remote(datagram), item.ErrorMessage ?? string.Empty);
                break;
            case ResponseItemKind.Failed:
                EngineLog.DatagramHandlerThrew(_logger, _pool.App.Name, datagram.Id, Remote(datagram), item.ErrorMessage ?? string.Empty, item.ErrorStack ?? string.Empty);
                break;
        }

        datagram.TryComplete(null);
    }

    private void TimeOutDatagram(PendingDatagram datagram)
    {
        if (datagram.TryComplete(null))
        {
            EngineLog.DatagramTimedOut(_logger, _pool.App.Name, datagram.Id, Remote(datagram), _pool.Options.RequestTimeout.TotalSeconds);
        }
    }

    private static string Remote(PendingDatagram datagram) => datagram.RemoteAddress + ":" + datagram.RemotePort;
}
