export default {
  async connect(socket) {},
};
